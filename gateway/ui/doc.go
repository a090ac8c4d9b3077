// Package ui serves the hosted web pages under /ui/: sign-in and each next
// step of the log-in, the signed-in landing page, and the pages the
// e-mailed links open (activation, password reset, forgot password, key
// request). Pages are server-rendered with html/template from embedded
// files, work without JavaScript, and call the public gRPC API through the
// gateway's own backend connections, with the client's address and the
// request id as the REST edge forwards them.
//
// The session (tokens, the login ticket between steps, a link token taken
// off the address bar) lives in one cookie sealed with AES-256-GCM under a
// key ring (LATCHKEY_UI_SESSION_KEYS); page scripts cannot read it. Every
// form carries a CSRF token bound to that session. See README.md for how to
// add a page.
package ui
