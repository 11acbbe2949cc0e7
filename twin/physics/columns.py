"""The columns the facility kernel writes: one row per step (COLUMNS) and, per unit of simulation,
per-server sums per period (RACK_COLUMNS). Indices are looked up by name, so inserting a column
cannot shift another's meaning; numba freezes the module constants into the compiled kernel.

Costs that are only known per period (demand charges) and the total cost are added after the run
(twin/sim/accounting.py); docs/architecture.md#results-contract lists every column with its unit.
"""

COLUMNS = (
    "it_power_w",
    "cooling_power_w",
    "power_chain_loss_w",
    "other_power_w",
    "facility_power_w",
    "outdoor_drybulb_c",
    "outdoor_wetbulb_c",
    "grid_carbon_g_per_kwh",
    "price_usd_per_kwh",
    "water_direct_m3",
    "water_indirect_m3",
    "carbon_kg",
    "tokens",
    "tokens_demanded",
    "gpu_utilization",
    "gpu_power_w",
    "host_power_w",
    "crah_fan_power_w",
    "chiller_power_w",
    "chw_pump_power_w",
    "cw_pump_power_w",
    "tower_fan_power_w",
    "economiser_fraction",
    "chiller_cop",
    "cooling_unmet_w",
    "heat_rejected_w",
    "pdu_loss_w",
    "ups_loss_w",
    "transformer_loss_w",
    "water_evaporation_m3",
    "water_drift_m3",
    "water_blowdown_m3",
    "grid_water_l_per_kwh",
    "energy_cost_usd",
    "water_cost_usd",
    "fixed_cost_usd",
    "server_fan_power_w",
    "psu_loss_w",
    "gpu_clock_fraction",
    "gpu_die_temp_c",
    "server_inlet_temp_c",
    "coolant_supply_temp_c",
    "liquid_heat_w",
    "cdu_pump_power_w",
    "dry_cooler_fan_power_w",
    "trim_chiller_power_w",
    "water_adiabatic_m3",
    "solar_power_w",
    "battery_power_w",
    "grid_import_w",
    "tokens_training",
    "training_it_power_w",
    "gpu_power_limit_fraction",
    "gpus_off",
    "thermal_storage_kwh",
)
_I = {name: i for i, name in enumerate(COLUMNS)}
C_IT = _I["it_power_w"]
C_COOL = _I["cooling_power_w"]
C_LOSS = _I["power_chain_loss_w"]
C_OTHER = _I["other_power_w"]
C_FAC = _I["facility_power_w"]
C_DB = _I["outdoor_drybulb_c"]
C_WB = _I["outdoor_wetbulb_c"]
C_CI = _I["grid_carbon_g_per_kwh"]
C_PRICE = _I["price_usd_per_kwh"]
C_WDIR = _I["water_direct_m3"]
C_WIND = _I["water_indirect_m3"]
C_CARBON = _I["carbon_kg"]
C_TOK = _I["tokens"]
C_TOKDEM = _I["tokens_demanded"]
C_UTIL = _I["gpu_utilization"]
C_GPU = _I["gpu_power_w"]
C_HOST = _I["host_power_w"]
C_CRAH = _I["crah_fan_power_w"]
C_CHILLER = _I["chiller_power_w"]
C_CHWP = _I["chw_pump_power_w"]
C_CWP = _I["cw_pump_power_w"]
C_TFAN = _I["tower_fan_power_w"]
C_ECON = _I["economiser_fraction"]
C_COP = _I["chiller_cop"]
C_UNMET = _I["cooling_unmet_w"]
C_REJ = _I["heat_rejected_w"]
C_PDU = _I["pdu_loss_w"]
C_UPS = _I["ups_loss_w"]
C_XFMR = _I["transformer_loss_w"]
C_EVAP = _I["water_evaporation_m3"]
C_DRIFT = _I["water_drift_m3"]
C_BLOW = _I["water_blowdown_m3"]
C_EWIF = _I["grid_water_l_per_kwh"]
C_ECOST = _I["energy_cost_usd"]
C_WCOST = _I["water_cost_usd"]
C_FCOST = _I["fixed_cost_usd"]
C_SFAN = _I["server_fan_power_w"]
C_PSU = _I["psu_loss_w"]
C_CLOCK = _I["gpu_clock_fraction"]
C_DIE = _I["gpu_die_temp_c"]
C_INLET = _I["server_inlet_temp_c"]
C_COOLANT = _I["coolant_supply_temp_c"]
C_LIQ = _I["liquid_heat_w"]
C_CDU = _I["cdu_pump_power_w"]
C_DRYFAN = _I["dry_cooler_fan_power_w"]
C_TRIM = _I["trim_chiller_power_w"]
C_WADIA = _I["water_adiabatic_m3"]
C_SOLAR = _I["solar_power_w"]
C_BATT = _I["battery_power_w"]
C_IMPORT = _I["grid_import_w"]
C_TOKTRAIN = _I["tokens_training"]
C_ITTRAIN = _I["training_it_power_w"]
C_CAPF = _I["gpu_power_limit_fraction"]
C_OFF = _I["gpus_off"]
C_STORE = _I["thermal_storage_kwh"]

RACK_COLUMNS = (  # per server of each unit (rack), summed per period; *_s columns are seconds
    "it_power_w",
    "gpu_power_w",
    "host_power_w",
    "server_fan_power_w",
    "liquid_heat_w",
    "gpu_utilization",
    "gpu_clock_fraction",
    "gpu_die_temp_c",
    "inlet_temp_c",
    "coolant_temp_c",
    "throttled_s",
    "tripped_s",
)
N_RACK = len(RACK_COLUMNS)
_R = {name: k for k, name in enumerate(RACK_COLUMNS)}
R_IT = _R["it_power_w"]
R_GPU = _R["gpu_power_w"]
R_HOST = _R["host_power_w"]
R_FAN = _R["server_fan_power_w"]
R_LIQ = _R["liquid_heat_w"]
R_UTIL = _R["gpu_utilization"]
R_CLOCK = _R["gpu_clock_fraction"]
R_DIE = _R["gpu_die_temp_c"]
R_INLET = _R["inlet_temp_c"]
R_COOLANT = _R["coolant_temp_c"]
R_THROTTLED = _R["throttled_s"]
R_TRIPPED = _R["tripped_s"]

# Over the whole run, per rack (Records.rack_run) and per row (Records.row_run), whatever rack_series keeps
# work_deficit_s: seconds of work the rack's GPUs fell behind full speed (1 - throughput factor, summed over the
# steps): a job on the rack progresses by the elapsed time less it (twin/sim/jobs.py)
RACK_RUN_COLUMNS = (
    "peak_it_power_w",
    "max_inlet_temp_c",
    "max_gpu_die_temp_c",
    "throttled_s",
    "tripped_s",
    "work_deficit_s",
)
RUN_PEAK_IT, RUN_MAX_INLET, RUN_MAX_DIE, RUN_THROTTLED, RUN_TRIPPED, RUN_DEFICIT = range(len(RACK_RUN_COLUMNS))
ROW_RUN_COLUMNS = ("peak_it_power_w", "peak_air_heat_w", "peak_liquid_heat_w")

# Each rack's share of its hall's load in a step (physics/placement.py place_load's drive), the
# throughput factor of its GPUs' clock once they have run (physics/servers.py), and its hosts' (CPU)
# utilisation, which drives host power: the GPUs' utilisation, or the jobs' CPU utilisation (twin/sim/jobs.py)
D_UTILIZATION, D_ACTIVITY, D_PRODUCTIVE, D_THROUGHPUT, D_HOST = 0, 1, 2, 3, 4
N_DRIVE = 5
