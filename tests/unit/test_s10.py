import pytest

from portal import s10


def test_known_good_number_is_valid():
    assert s10.validate("RA123456785GB") == "RA123456785GB"


def test_wrong_check_digit_is_told_apart_from_a_malformed_number():
    with pytest.raises(s10.S10Error) as typo:
        s10.validate("RA123456784GB")
    assert typo.value.bad_check_digit
    with pytest.raises(s10.S10Error) as garbage:
        s10.validate("RA12345GB")
    assert not garbage.value.bad_check_digit


def test_serial_47312482_has_check_digit_9():
    assert s10.check_digit("47312482") == 9


@pytest.mark.parametrize(
    ("serial", "digit"),
    [("12345678", 5), ("00000000", 5), ("47312482", 9)],
)
def test_check_digit_special_cases(serial, digit):
    # 00000000 sums to 0 → 11 - 0 = 11 → 5; 12345678 → 5 (RA123456785GB)
    assert s10.check_digit(serial) == digit


def test_check_digit_ten_becomes_zero():
    # Find a serial whose raw check value is 10 and see it map to 0.
    serial = next(
        f"{n:08d}"
        for n in range(1000)
        if sum(int(d) * w for d, w in zip(f"{n:08d}", s10.WEIGHTS, strict=True)) % 11 == 1
    )
    assert s10.check_digit(serial) == 0


def test_input_is_normalised():
    assert s10.normalise("ra 123-456-785 gb") == "RA123456785GB"
    assert s10.validate(" ra 123-456-785 gb ") == "RA123456785GB"


def test_generated_numbers_are_valid_and_vary():
    numbers = {s10.generate("LM", "SE") for _ in range(200)}
    assert len(numbers) > 190
    assert all(s10.is_valid(n) and n.startswith("LM") and n.endswith("SE") for n in numbers)
