"""E-mail intake: support mails read from IMAP or a Maildir become tickets or comments."""
