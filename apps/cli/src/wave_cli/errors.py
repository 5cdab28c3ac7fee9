"""A problem of this process's setup a person can fix (the environment, a file, a service that cannot
start): like every refusal of the application layer, one line on stderr and exit status 1."""

from wave_app.errors import AppError


class UserError(AppError):
    pass
