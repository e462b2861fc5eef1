"""Experiments: a recipe per model, trained with the DAPO stages, evaluated, tabulated."""
