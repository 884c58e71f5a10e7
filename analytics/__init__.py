"""Analyst access to the published warehouse: the entity credit profile and the methodology what-if.

Everything here reads `Home.warehouse` (the published copy) through `creditwh.warehouse.open_read_only`, so it
never waits for, or blocks, a build.
"""
