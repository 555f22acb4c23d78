"""NHS numbers: ten digits whose last is a modulus 11 check digit over the
first nine (weights 10 down to 2). A remainder giving 10 is never issued."""

from . import outcomes


def is_valid(number: str) -> bool:
    """Whether `number` is a well-formed NHS number."""
    if len(number) != 10 or not number.isascii() or not number.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(number[9])


def problem(number: str):
    """Why `number` is not an NHS number, for a person (the Rust SDK's
    wording), or None if it is one."""
    if len(number) != 10 or not number.isascii() or not number.isdigit():
        return f"'{number}' is not an NHS number: an NHS number is exactly 10 digits with no spaces"
    if not is_valid(number):
        return (f"'{number}' is not a valid NHS number: its check digit is wrong (Modulus 11); "
                "check it was copied correctly")
    return None


def check(number: str, at: str) -> None:
    """Raises an `invalid` outcome at `at` unless `number` is an NHS number."""
    why = problem(number)
    if why is not None:
        raise outcomes.invalid(why, at)
