"""`python -m otpfob`: the `otpfob` command."""

from otpfob.cli import main

if __name__ == "__main__":
    main()
