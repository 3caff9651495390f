"""When to log a counted warning: at the 1st, 10th, 100th, ... event."""

__all__ = ['passed_power_of_ten']


def passed_power_of_ten(before: int, after: int) -> bool:
    """True when a counter going from ``before`` to ``after`` reaches
    1, 10, 100, ...: log rarely, never spam.

    Args:
        before (int): The count before the events.
        after (int): The count after them.

    Returns:
        bool: Whether to log.
    """
    if after <= 0:
        return False
    if before <= 0:
        return True
    return len(str(int(after))) > len(str(int(before)))
