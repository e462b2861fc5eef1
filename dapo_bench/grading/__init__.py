"""Graders: math answer equivalence and code verdicts from the sandbox."""
