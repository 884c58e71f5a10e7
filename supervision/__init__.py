"""Supervision applications built on the warehouse (credit code; later: credit repair, joint punishment, inspections)."""
