"""Validates each resource of an export's NDJSON files against FHIR R4 (see
scripts/fhir-validate). Prints one line per file and every invalid
resource; exits 1 if any resource is invalid."""

import json
import pathlib
import sys

from fhir.resources import get_fhir_model_class


def main(directory: str) -> int:
    root = pathlib.Path(directory)
    manifest = json.loads((root / "manifest.json").read_text())
    invalid = 0
    for entry in manifest["output"]:
        name = entry["url"].rsplit("/", 1)[-1]
        model = get_fhir_model_class(entry["type"])
        count = 0
        for number, line in enumerate((root / name).read_text().splitlines(), 1):
            if not line.strip():
                continue
            count += 1
            resource = json.loads(line)
            try:
                model.parse_obj(resource)
            except Exception as error:  # the validator's own report
                invalid += 1
                print(f"invalid {name} line {number} ({entry['type']}/{resource.get('id')}): {error}")
        print(f"checked {name}: {count} resources")
    if invalid:
        print(f"{invalid} resources are not valid FHIR R4")
        return 1
    print("every resource is valid FHIR R4")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
