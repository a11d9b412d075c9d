#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""schema-check.py SCHEMA DOC: the JSON Schema subset `nono profile schema` uses (type,
properties, additionalProperties, items, enum, minimum, maximum), without the jsonschema
module. Exit 0 when DOC conforms, 1 with the JSON path of the first violation."""
import json
import sys

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def is_type(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, TYPES[t]) and not (t != "boolean" and isinstance(v, bool))


def check(schema, v, where):
    if schema is False:
        return f"{where}: not allowed"
    if schema is True:
        return None
    t = schema.get("type")
    if t is not None:
        ts = t if isinstance(t, list) else [t]
        if not any(is_type(v, x) for x in ts):
            return f"{where}: expected {t}"
    if "enum" in schema and v not in schema["enum"]:
        return f"{where}: not one of {schema['enum']}"
    if isinstance(v, int) and not isinstance(v, bool):
        if v < schema.get("minimum", v) or v > schema.get("maximum", v):
            return f"{where}: out of range"
    if isinstance(v, dict):
        props = schema.get("properties", {})
        for k, x in v.items():
            sub = props.get(k, schema.get("additionalProperties", True))
            err = check(sub, x, f"{where}/{k}")
            if err:
                return err
    if isinstance(v, list) and "items" in schema:
        for i, x in enumerate(v):
            err = check(schema["items"], x, f"{where}/{i}")
            if err:
                return err
    return None


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    with open(sys.argv[2]) as f:
        doc = json.load(f)
    err = check(schema, doc, "")
    if err:
        print(f"{sys.argv[2]}: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
