"""The one exception type that means "the user asked for something we cannot do".

The root scripts catch it and print its message as a single line with exit code 2, so bad input
never ends in a traceback. Anything else that escapes is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input (missing file, unknown device, corrupt checkpoint...) with a one-line message."""
