"""GPU content sources, one module per layer kind (the table is :mod:`mapping.kinds`)."""
