"""The one base class for errors a user can fix (bad data, bad settings, failed download).

Scripts catch it and print a single line naming the file or key and what was expected.
"""


class InputError(Exception):
    """Input the pipeline cannot use; the message says which file or key, and what was expected."""
