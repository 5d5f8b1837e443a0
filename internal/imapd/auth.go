package imapd

import (
	"context"
	"errors"
	"fmt"

	"mailtk/internal/userdb"
)

func fromUserdb(a userdb.Authenticator) Authenticator {
	return func(ctx context.Context, name, pass string) (*Account, error) {
		u, err := a.Authenticate(ctx, name, pass)
		switch {
		case err == nil:
		case errors.Is(err, userdb.ErrAuth), errors.Is(err, userdb.ErrNoUser):
			return nil, fmt.Errorf("%w: %v", ErrAuth, err)
		default:
			return nil, fmt.Errorf("%w: %v", ErrAuthTemp, err)
		}
		dir, err := u.MaildirPath()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrAuthTemp, err)
		}
		return &Account{Name: u.Name, Maildir: dir, UID: u.UID, GID: u.GID}, nil
	}
}
