package main

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/cmd/allinone"
)

// `latchkey run` says that the mailbox is for this machine only, and where
// the management listener is.
func TestPrintRunning_MailboxThisMachineOnly_Management(t *testing.T) {
	var out strings.Builder
	printRunning(&out, &allinone.Instance{
		HTTPURL: "http://0.0.0.0:8080", MailboxURL: "http://0.0.0.0:8080/ui/mailbox/", ManagementURL: "http://127.0.0.1:9464",
	})
	for _, want := range []string{
		"Mail:  http://0.0.0.0:8080/ui/mailbox/  (this machine only;",
		"Management:  http://127.0.0.1:9464/metrics, http://127.0.0.1:9464/readyz",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
