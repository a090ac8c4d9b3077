package app

import "context"

// NoteSecurityChange moves the account's security stamp on: the
// credential, mfa or recovery service changed what it reports about the
// account (the password or PIN, the second factor, the recovery
// information), so the answers GET /v1/me keeps for it are old. Every
// replica sees the stamp in the database, so none shows the old answers
// once the caller has answered its user.
func (a *App) NoteSecurityChange(ctx context.Context, tenantID, accountID string) error {
	if err := checkAccountRef(tenantID, accountID); err != nil {
		return err
	}
	return a.store.MoveSecurityStamp(ctx, tenantID, accountID)
}
