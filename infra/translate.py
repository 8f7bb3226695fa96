"""Translates the SAM template to plain CloudFormation, offline, so cfn-lint can check what SAM
generates (plain cfn-lint on the SAM template misses bad Refs, bad cron and bad IAM actions).

usage: python translate.py infra/template.yaml build/template.cfn.json
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicyLoader:
    """The translator asks IAM for managed policy ARNs; offline we build them ourselves."""

    def load(self):
        return {}


def main(source, target):
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # The translator wants code in S3; the real upload happens in `sam deploy`.
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://stammkunde-artifacts/functions.zip"
    translated = transform(template, {}, OfflinePolicyLoader())
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
