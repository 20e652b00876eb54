import pytest

from portfolio.identifiers import is_plausible_mprn, is_valid_mpan_core, make_mpan_core, mpan_check_digit, parse_mpan


def test_check_digit_follows_the_prime_weighted_sum():
    # 1*3+2*5+3*7+4*13+5*17+6*19+7*23+8*29+9*31+0*37+1*41+2*43 = 1084; 1084 % 11 = 6; 6 % 10 = 6
    assert mpan_check_digit("123456789012") == 6
    assert is_valid_mpan_core("1234567890126")
    assert not is_valid_mpan_core("1234567890127")
    assert not is_valid_mpan_core("123456789012")
    assert not is_valid_mpan_core("12345678901A6")


def test_make_mpan_core_appends_a_valid_check_digit():
    for distributor, unique in [(10, 0), (12, 3456789012), (23, 9999999999), (19, 42)]:
        core = make_mpan_core(distributor, unique)
        assert len(core) == 13 and core.startswith(str(distributor))
        assert is_valid_mpan_core(core)
    with pytest.raises(ValueError):
        make_mpan_core(5, 1)
    with pytest.raises(ValueError):
        make_mpan_core(12, 10**10)


def test_parse_mpan_reads_core_and_full_mpan():
    assert parse_mpan("1234567890126").core == "1234567890126"
    assert parse_mpan("1234567890126").profile_class is None
    full = parse_mpan("03 801 100 1234567890126")
    assert (full.core, full.profile_class, full.meter_timeswitch_code, full.line_loss_factor_class) == (
        "1234567890126",
        "03",
        "801",
        "100",
    )
    with pytest.raises(ValueError, match="check digit"):
        parse_mpan("038011001234567890127")
    with pytest.raises(ValueError, match="not an MPAN"):
        parse_mpan("MAC000002")


def test_mprn_plausibility_is_six_to_ten_digits():
    assert is_plausible_mprn("123456")
    assert is_plausible_mprn(" 1234567890 ")
    assert not is_plausible_mprn("12345")
    assert not is_plausible_mprn("12345678901")
    assert not is_plausible_mprn("12345A")
