"""The one error type every layer may raise for a problem a person must fix.

It lives at the bottom of the dependency graph (flows -> transforms, shanjing, ledger -> schemas)
so that any stage can raise it and the CLI can print it as one line, without a traceback.
"""


class UserError(Exception):
    """A fatal, user-fixable problem: unreadable file, wrong columns, bad configuration.

    The message must name the thing to fix (file, column, setting) and carry no secret.
    """
