"""`python -m dapo_bench`: the CLI (what `accelerate launch -m dapo_bench ...` runs)."""

from dapo_bench.cli import main

if __name__ == "__main__":
    main()
