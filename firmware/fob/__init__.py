# otpfob firmware package.  VERSION is what `info` reports and what
# `otpfob deploy` checks after a reset.
VERSION = "0.1.0"
