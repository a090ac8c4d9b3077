package app

import (
	"context"
	"slices"
	"unicode/utf8"

	"github.com/latchkey/latchkey/libs/authn"
	"github.com/latchkey/latchkey/libs/errs"
	"github.com/latchkey/latchkey/libs/pagetoken"
	"github.com/latchkey/latchkey/services/account/internal/account"
	"github.com/latchkey/latchkey/services/account/internal/store"
)

// MaxFilterLength bounds list filters: a search box, not a query language.
const MaxFilterLength = 200

// ListAccounts asks for a page of the caller's tenant's accounts.
type ListAccounts struct {
	Filter    string
	Status    account.Status // "" for all
	Role      account.Role   // "" for all
	PageSize  int32
	PageToken string
}

// ListAccounts returns a page of accounts in id (creation) order and the
// token of the next page ("" on the last).
func (a *App) ListAccounts(ctx context.Context, p *authn.Principal, q ListAccounts) ([]*account.Account, string, error) {
	t, err := a.adminTenant(ctx, p)
	if err != nil {
		return nil, "", err
	}
	var v errs.Violations
	checkFilter(&v, q.Filter)
	if q.Status != "" && !slices.Contains(account.Statuses, q.Status) {
		v.Add("status", account.ReasonInvalidFormat, "one of PENDING, ACTIVE, LOCKED, DISABLED")
	}
	if q.Role != "" && !slices.Contains(account.Roles, q.Role) {
		v.Add("role", account.ReasonInvalidFormat, "one of ADMIN, USER, CLIENT, OPERATOR")
	}
	size, after, err := page(&v, q.PageSize, q.PageToken)
	if err != nil {
		return nil, "", err
	}
	list, err := a.store.ListAccounts(ctx, t.ID, store.AccountQuery{
		Filter: q.Filter, Status: q.Status, Role: q.Role, After: after, Limit: size + 1,
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > size {
		list = list[:size]
		next = pagetoken.Encode(list[size-1].ID)
	}
	return list, next, nil
}

func checkFilter(v *errs.Violations, filter string) {
	if utf8.RuneCountInString(filter) > MaxFilterLength {
		v.Add("filter", account.ReasonTooLong, "at most 200 characters")
	}
}

// page reads the page size and token, adding their errors to v, and
// returns v's error when there is any.
func page(v *errs.Violations, size int32, token string) (int, string, error) {
	n, err := pagetoken.Size(size)
	if err != nil {
		v.Add("pageSize", "OUT_OF_RANGE", "must not be negative")
	}
	after, err := pagetoken.Decode(token)
	if err != nil {
		v.Add("pageToken", "INVALID_PAGE_TOKEN", "not a page token from a previous answer")
	}
	return n, after, v.Err()
}
