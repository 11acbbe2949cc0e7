"""The kinds of rack the kernels are given parameters for: each hall's racks of its own GPU, and those of its
rack groups with another GPU model (mixed generations), each with its GPU, server, cooling path, throughput
and, for the hall's own GPU, the user's calibrations (docs/model.md#rows-and-their-cooling-units)."""

import numpy as np

from twin import catalog
from twin.params import calibration
from twin.params.server import server_conversion_coefficients, server_fans
from twin.physics.units import Halls
from twin.scenario.facility import inlet_allowable_c


def cooling_settings(cfg):
    """(catalog key, merged settings) of the facility's cooling; air-cooled halls have no liquid path."""
    if cfg.type == "air":
        return "air", dict(catalog.load("cooling")["air"])
    settings = cfg.liquid_settings()
    key = "direct_to_chip" if cfg.type == "direct_to_chip" else f"immersion_{cfg.phase}_phase"
    return key, settings


def unit_kinds(scenario):
    """The kinds of racks the kernels' parameters are built for, (hall index, GPU model): kind h is hall h with
    its own GPU; then, hall by hall, the rack groups' other GPU models (mixed generations in a hall)."""
    halls = scenario.facility.halls
    kinds = [(h, hall.gpu) for h, hall in enumerate(halls)]
    for h, hall in enumerate(halls):
        kinds += [(h, gpu) for gpu in hall.gpu_models()[1:]]
    return kinds


def build_halls(scenario, kinds=None):
    """The kernels' parameters of each kind of rack (unit_kinds; default: one per hall, its own GPU), servers
    counting the hall's racks of that kind. Calibrations are the hall's own GPU's."""
    gpus = catalog.load("gpus")
    model = catalog.load("gpu_model")
    key, settings = cooling_settings(scenario.facility.cooling)
    models = catalog.load("models")
    inference = scenario.workload.inference
    rows = []
    halls = scenario.facility.halls
    for h, gpu in kinds if kinds is not None else [(h, hall.gpu) for h, hall in enumerate(halls)]:
        hall = halls[h]
        own = gpu == hall.gpu
        spec = gpus[gpu]
        n, host_idle_wall, host_max_wall = hall.server_spec(gpu)
        server = spec["server"]
        psu_rating = server["psu_count"] * server["psu_rating_w"]
        liquid = settings["liquid_fraction"]
        fan_law = server_fans(spec, n, host_idle_wall, host_max_wall, liquid, key.startswith("immersion"))
        r = settings["gpu_die_rise_at_tdp_k"] / spec["tdp_w"]
        c0, c1, c2 = server_conversion_coefficients(spec, scenario.facility.power_chain.distribution)
        batch = next(
            (b for b in (scenario.workload.training, scenario.workload.jobs) if b and b.hall == hall.name), None
        )
        if batch is not None:  # tokens processed: MFU x dense BF16 peak / 6 N (a job trace without N: none)
            tokens = (
                batch.mfu
                * catalog.load("workload")["training"]["bf16_dense_tflops"][gpu]
                * 1e12
                / (6.0 * batch.model_params_billion * 1e9)
                if batch.model_params_billion is not None
                else 0.0
            )
        else:
            tokens = inference.throughput_scale * (
                inference.tokens_per_gpu_s or models[inference.model][gpu]["output_tokens_per_s_per_gpu"]
            )
        row = dict(
            servers=hall.servers_by_gpu()[gpu],
            gpus_per_server=n,
            gpu_idle_w=spec["idle_w"],
            gpu_tdp_w=spec["tdp_w"],
            gpu_clock_w=0.0,
            gpu_dynamic_w=spec["tdp_w"] - spec["idle_w"],
            gpu_v_floor=0.0,
            leak_fraction=model["leak_fraction"],
            leak_per_k=model["leak_per_k"],
            leak_ref_temp_c=model["leak_ref_temp_c"],
            die_r_k_per_w=r,
            die_c_j_per_k=model["die_time_constant_s"] / r,
            sink_r_k_per_w=0.0,
            sink_c_j_per_k=1.0,
            max_temp_c=spec["max_operating_temp_c"],
            shutdown_temp_c=spec["shutdown_temp_c"],
            min_clock_fraction=model["min_clock_fraction"],
            throughput_clock_exponent=model["throughput_clock_exponent"],
            **fan_law,
            psu_rating_w=psu_rating,
            psu_c0=c0,
            psu_c1=c1,
            psu_c2=c2,
            liquid_fraction=liquid,
            tokens_per_gpu_s=tokens,
            training=1.0 if batch is not None else 0.0,
            recirculation_k_per_w=0.0,  # per rack: twin/sim/topology.py
            inlet_limit_c=inlet_allowable_c(scenario.facility.cooling),
            coolant_limit_c=settings["coolant_shutdown_c"] if liquid > 0.0 else np.inf,
            restart_s=catalog.load("cooling")["rows"]["server_restart_s"],
            rack_limit_w=np.inf,  # per rack: twin/sim/topology.py
            installed_step=0.0,  # per rack: twin/sim/engine.py install_steps
        )
        if own and hall.gpu_calibration is not None:  # the user's fitted kernels replace the catalog's
            row.update(calibration.hall_parameters(calibration.read(hall.gpu_calibration, hall.gpu)))
        if own and hall.rack_calibration is not None:
            block = calibration.read_rack(hall.rack_calibration, hall.gpu)
            row.update(calibration.rack_hall_parameters(block, liquid > 0.0))
        rows.append(row)
    return Halls(*(np.array([row[f] for row in rows], dtype=np.float64) for f in Halls._fields))


def serving_curves(scenario, kinds):
    """Per kind of rack (unit_kinds), the fitted serving curve of the model on its GPU (catalog models.yaml), or
    None where the scenario sets its own tokens_per_gpu_s or the hall trains."""
    inference, batch = scenario.workload.inference, scenario.workload.batch_halls()
    halls = scenario.facility.halls
    return [
        None
        if inference.tokens_per_gpu_s is not None or halls[h].name in batch
        else catalog.load("models")[inference.model][gpu]
        for h, gpu in kinds
    ]
