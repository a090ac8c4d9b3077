// Package libs holds nothing itself; its sub-packages are the code that two
// or more Latchkey services share.
package libs
