from mmdet_faces.utils import passed_power_of_ten


def test_passed_power_of_ten():
    f = passed_power_of_ten
    assert f(0, 1) and f(0, 3) and f(9, 10) and f(5, 12) and f(99, 100)
    assert not f(1, 9) and not f(10, 99) and not f(3, 3)
