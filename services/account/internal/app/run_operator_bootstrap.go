package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/libs/errs"
)

// OperatorPasswordFile is where the first operator's temporary password is
// written, in the data directory.
const OperatorPasswordFile = "operator-password"

// RunOperatorBootstrap creates the first operator account (BootstrapOperator)
// and writes its temporary password to dataDir/OperatorPasswordFile (mode
// 0600), retrying while the credential service, which keeps the password,
// is not up yet. It returns when the account exists, on a permanent error,
// or when ctx ends.
func (a *App) RunOperatorBootstrap(ctx context.Context, op OperatorAccount, dataDir string) {
	log := a.opts.Logger
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		pw, err := a.BootstrapOperator(ctx, op)
		if err == nil {
			if pw == "" {
				return
			}
			path := filepath.Join(dataDir, OperatorPasswordFile)
			text := fmt.Sprintf("tenant: %s\nusername: %s\ntemporary password: %s\n", op.TenantCode, op.Username, pw)
			if err := os.MkdirAll(dataDir, 0o700); err == nil {
				err = os.WriteFile(path, []byte(text), 0o600)
			}
			if err != nil {
				log.Error("operator account created, but its temporary password could not be written", "err", err)
				return
			}
			log.Info("operator account created; log in and change the temporary password", "tenant", op.TenantCode, "username", op.Username, "password_file", path)
			return
		}
		if errs.Is(err, errs.KindInvalid) || errs.Is(err, errs.KindConflict) {
			log.Error("operator account not created", "err", err)
			return
		}
		log.Warn("operator account: retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
