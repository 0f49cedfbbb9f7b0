"""``python -m schemas.docs``: rewrite the generated AsyncAPI file and README table."""

from __future__ import annotations

from schemas.asyncapi import write_docs
from schemas.avro import load_schema_set
from schemas.settings import PROJECT_ROOT


def main() -> None:
    write_docs(load_schema_set(), PROJECT_ROOT / "README.md")
    print("wrote schemas/asyncapi.yaml and the README topic table")


if __name__ == "__main__":
    main()
