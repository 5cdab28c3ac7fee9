"""A user's mistake, or a condition a user can fix: printed as one line, exit status 1 or 2."""


class UserError(Exception):
    exit_code = 1


class NotFound(UserError):
    exit_code = 1
