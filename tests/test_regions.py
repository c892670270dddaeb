"""Regions: maps, determinants, indicators, bounding boxes, bad input."""
import math

import numpy as np
import pytest
from scipy import special

import jacsolve
from jacsolve import regions as R
from jacsolve.problems import integral_cases as P


def builtin_regions():
    """One instance of every region class (user-function ones from the problem library)."""
    return [
        R.Box([0.0, -1.0, 2.0], [1.0, 0.5, 4.0]),
        R.Disk(center=(0.3, -0.2), radius=1.5),
        R.Annulus(r_inner=0.5, r_outer=2.0),
        R.Ellipse(center=(1.0, -0.5), a=2.0, b=0.5, angle=0.7),
        R.Sector(radius=2.0, theta1=0.3, theta2=2.5, r_inner=0.4),
        R.Triangle((0.0, 0.0), (2.0, 0.0), (0.5, 1.5)),
        R.Simplex([[0, 0, 0], [1, 0.2, 0], [0.1, 1, 0.3], [0.2, 0.1, 1.2]]),
        R.Simplex(np.vstack([np.zeros(4), np.eye(4) + 0.1])),       # d = 4: LU path
        R.Ball(3, radius=1.2),
        R.Ball(4, center=[1, 2, 3, 4], radius=0.5),
        R.Torus(R=2.0, r=1.0),
        R.RealSpace(2),
        R.Unbounded([0.0, -np.inf, -1.0], [np.inf, 2.0, 1.0], transform="logit"),
        R.RealSpace(2, transform="normal", scale=2.0, center=1.0),
        R.Between(P.parabola_minus_one, P.cosine, -0.8, 0.9),
        R.BetweenSurfaces(P.bowl, P.tilted_plane, R.Disk()),
        R.Star(P.trefoil_radius),
    ]


REGIONS = builtin_regions()
IDS = [repr(r)[:40] for r in REGIONS]


@pytest.mark.parametrize("region", REGIONS, ids=IDS)
def test_complex_step_det_matches_analytic(region):
    u = np.random.default_rng(0).uniform(0.02, 0.98, (32, region.dim))
    x_a, det_a = region.pullback(u, det="analytic")
    x_c, det_c = region.pullback(u, det="complex")
    assert np.array_equal(x_a, x_c)
    assert np.all(det_a > 0)
    assert np.max(np.abs(det_c - det_a) / det_a) <= 1e-12


@pytest.mark.parametrize("region", [REGIONS[1], REGIONS[10]], ids=["disk", "torus"])
def test_central_difference_det_is_close(region):
    # for maps that are not complex-safe: right to truncation and rounding, ~eps^(2/3)
    u = np.random.default_rng(0).uniform(0.0, 1.0, (32, region.dim))
    u[0, 0], u[1, 1] = 1e-9, 1.0 - 1e-9         # one-sided formulas at the cube's faces
    _, det_a = region.pullback(u, det="analytic")
    _, det_d = region.pullback(u, det="central")
    ok = det_a > 1e-6
    assert np.max(np.abs(det_d - det_a)[ok] / det_a[ok]) <= 1e-7


@pytest.mark.parametrize("region", REGIONS, ids=IDS)
def test_mapped_points_lie_inside_and_in_bounds(region):
    u = np.random.default_rng(1).uniform(0.001, 0.999, (256, region.dim))
    x, _ = region.pullback(u)
    assert np.all(region.contains(x))
    lo, hi = region.bounds
    assert np.all(x >= lo) and np.all(x <= hi)


def test_indicator_rejects_outside_points():
    assert not R.Disk(radius=1.0).contains([0.8, 0.8])
    assert not R.Annulus(r_inner=0.5, r_outer=1.0).contains([0.1, 0.1])
    assert not R.Sector(theta1=0.0, theta2=math.pi / 2).contains([-0.1, 0.5])
    assert not R.Triangle((0, 0), (1, 0), (0, 1)).contains([0.6, 0.6])
    assert not R.Torus(R=2.0, r=1.0).contains([0.0, 0.0, 0.0])
    assert R.Torus(R=2.0, r=1.0).contains([2.5, 0.0, 0.5])


def test_volumes_and_bounds_closed_form():
    assert R.Ball(5, radius=2.0).volume == pytest.approx(8 * math.pi ** 2 / 15 * 32, rel=1e-14)
    assert R.Torus(R=3.0, r=0.5).volume == pytest.approx(2 * math.pi ** 2 * 3 * 0.25, rel=1e-14)
    lo, hi = R.Ellipse(a=2.0, b=1.0, angle=math.pi / 2).bounds
    assert np.allclose(lo, [-1, -2]) and np.allclose(hi, [1, 2])
    lo, hi = R.Sector(theta1=0.0, theta2=math.pi / 2).bounds
    assert np.allclose(lo, [0, 0]) and np.allclose(hi, [1, 1])


def test_polar_centre_singular_jacobian_is_harmless():
    disk = R.Disk(radius=2.0)
    x, det = disk.pullback([0.0, 0.3], det="complex")
    assert np.allclose(x, 0.0) and det == 0.0
    # 1/|x| is infinite at the centre, integrable; polar coordinates make it 2 pi R
    for det in ("analytic", "complex"):
        res = jacsolve.integrate(P.inv_norm, disk, n=400, det=det)
        assert res.success and res.value == pytest.approx(4 * math.pi, rel=1e-13)


def test_normal_quantile_matches_scipy():
    p = np.concatenate([np.logspace(-300, -1, 60), np.linspace(0.01, 0.99, 99),
                        1 - np.logspace(-15, -1, 30)])
    ours = np.array([R.ndtri(v) for v in p])
    assert np.allclose(ours, special.ndtri(p), rtol=2e-15, atol=1e-15)


def test_mapped_user_map_with_domain_and_analytic_det():
    @jacsolve.jit
    def polar(u):
        x = np.empty(2, dtype=u.dtype)
        x[0] = u[0] * np.cos(u[1])
        x[1] = u[0] * np.sin(u[1])
        return x

    @jacsolve.jit
    def polar_det(u):
        return u[0]

    region = R.Mapped(polar, 2, domain=([0.0, 0.0], [2.0, 2 * math.pi]), det=polar_det)
    u = np.random.default_rng(2).random((16, 2))
    _, da = region.pullback(u, det="analytic")
    _, dc = region.pullback(u, det="complex")
    assert np.allclose(dc, da, rtol=1e-13)
    assert np.allclose(da, 2 * u[:, 0] * 2 * 2 * math.pi, rtol=1e-14)
    lo, hi = region.bounds
    assert np.all(lo <= -2.0) and np.all(hi >= 2.0)


# ----------------------------------------------------------------- bad input
def test_map_output_of_wrong_dimension_names_T():
    @jacsolve.jit
    def three(u):
        return np.array([u[0], u[1], 0.0])

    with pytest.raises(ValueError, match=r"T must return 2 values"):
        R.Mapped(three, 2)


def test_bad_region_parameters_name_the_argument():
    with pytest.raises(ValueError, match="r_inner"):
        R.Annulus(r_inner=2.0, r_outer=1.0)
    with pytest.raises(ValueError, match="vertices"):
        R.Triangle((0, 0), (1, 1), (2, 2))
    with pytest.raises(ValueError, match="vertices"):
        R.Simplex([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="radius"):
        R.Disk(radius=-1.0)
    with pytest.raises(ValueError, match=r"\br must be < R"):
        R.Torus(R=1.0, r=2.0)
    with pytest.raises(ValueError, match="upper"):
        R.Box([0, 0], [1, 0])
    with pytest.raises(ValueError, match="dim"):
        R.Ball(1)
    with pytest.raises(ValueError, match="transform"):
        R.RealSpace(2, transform="cubic")
    with pytest.raises(ValueError, match="theta2 - theta1"):
        R.Sector(theta1=1.0, theta2=0.5)
    with pytest.raises(ValueError, match="rho"):
        R.Star(P.parabola_minus_one)          # negative radius at some angles
    with pytest.raises(ValueError, match="det"):
        R.Disk().pullback([0.5, 0.5], det="exact")
    with pytest.raises(ValueError, match=r"u must have shape"):
        R.Disk().pullback([0.5, 0.5, 0.5])
