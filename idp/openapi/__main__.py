"""Print the OpenAPI document as JSON (``python -m idp.openapi``), for SDK generators."""

import json
import sys

from idp.openapi import document

json.dump(document(), sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
