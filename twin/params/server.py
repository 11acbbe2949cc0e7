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
