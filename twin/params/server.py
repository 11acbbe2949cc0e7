"""A server's power conversion as the kernels take it: loss coefficients from the catalog's efficiency points."""

from twin import catalog
from twin.physics import power


def server_conversion_coefficients(gpu_spec, distribution):
    """Three-term loss coefficients of the server's (or rack shelf's) power conversion: the catalog's
    efficiency points of the converter the distribution uses (power_chain.yaml), fitted by
    twin.physics.power.fit_loss_coefficients."""
    chain = catalog.load("power_chain")
    name = chain["distribution"][distribution]["server"]
    if name == "gpu_default":
        name = gpu_spec["server"]["power_conversion"]
    load, eff = zip(*chain["server_conversion"][name]["points"])
    return power.fit_loss_coefficients(load, eff)


def _dc_behind_psu(wall_w, rating_w, coefficients):
    """DC load whose wall power is wall_w (fixed point of dc + loss(dc) = wall)."""
    dc = wall_w
    for _ in range(20):
        dc = wall_w - power.converter_loss_w(dc, rating_w, *coefficients)
    return dc


def air_server_fans_w(spec, n):
    """(idle, full-load, full-speed) fan power [W] of the all-air server of a GPU with n GPUs, as
    catalog/cooling.yaml server_fans sizes them: a share of the catalog server's wall power at full load and
    the reference inlet, reached at speed_at_ref (so full speed is that over speed_at_ref^3); at idle the fans
    run at their minimum speed (the idle load's x s_ref is under it for every catalog GPU)."""
    fans = catalog.load("cooling")["server_fans"]
    full_w = fans["share_of_wall_power_at_ref"] * (n * spec["tdp_w"] + spec["server"]["host_max_w"])
    max_w = full_w / fans["speed_at_ref"] ** 3
    return max_w * fans["min_speed"] ** 3, full_w, max_w


def host_fan_share(spec):
    """Share of the all-air server's fans inside the catalog's host wall figures of a GPU: its server's
    host_fans, "all_air" (the default: the figures of an air-cooled server), "direct_to_chip" (a cold-plate
    server's fans, for the heat catalog/cooling.yaml direct_to_chip leaves to air) or "none" (no server fans)."""
    kind = spec["server"].get("host_fans", "all_air")
    if kind == "direct_to_chip":
        return 1.0 - catalog.load("cooling")["direct_to_chip"]["liquid_fraction"]
    return {"all_air": 1.0, "none": 0.0}[kind]


def server_fans(spec, n, host_idle_wall_w, host_max_wall_w, liquid_fraction=0.0, immersion=False):
    """A GPU server's fans as the kernels take them (physics/rack.py fan_speed_fraction, fan_power_w), and the DC
    host power behind the wall figures of its hall (the catalog's unless the hall sets its own), in the kernels'
    terms (fields of physics/units.Halls), for a server of n GPUs.

    The wall figures hold with the server's native PSUs and the fans host_fan_share says (of air_server_fans_w's
    at idle and at full load): those come out to give the DC host load. A direct-to-chip server keeps fans for the heat left to
    air, (1 - liquid_fraction) of them (fans sized for the air they move [M]); an immersed one has none."""
    fans = catalog.load("cooling")["server_fans"]
    rating_w = spec["server"]["psu_count"] * spec["server"]["psu_rating_w"]
    native = server_conversion_coefficients(spec, "ac")
    fan_idle_w, fan_full_w, fan_max_w = air_server_fans_w(spec, n)
    in_host = host_fan_share(spec)
    design_dc_w = _dc_behind_psu(n * spec["tdp_w"] + host_max_wall_w, rating_w, native) - in_host * fan_full_w
    host_idle_w = _dc_behind_psu(n * spec["idle_w"] + host_idle_wall_w, rating_w, native) - n * spec["idle_w"]
    host_idle_w -= in_host * fan_idle_w
    host_max_w = design_dc_w - n * spec["tdp_w"]
    return {
        "host_idle_w": max(host_idle_w, 0.0),
        "host_max_w": max(host_max_w, host_idle_w, 0.0),
        "fan_max_w": 0.0 if immersion else fan_max_w * (1.0 - liquid_fraction),
        "fan_design_dc_w": design_dc_w,
        "fan_speed_at_ref": fans["speed_at_ref"],
        "fan_ref_temp_c": fans["ref_temp_c"],
        "fan_speed_per_k": fans["speed_per_k"],
        "fan_min_speed": fans["min_speed"],
    }
