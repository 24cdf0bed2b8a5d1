"""Account use cases: sign-up and email verification, passwords, email change, sessions."""
