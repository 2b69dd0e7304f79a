"""Independent IAM check of synthesised CloudFormation templates, on parliament's AWS IAM definitions.

Reads {"templates": {name: template}} on stdin; prints a JSON list of findings: every Allow statement of an
identity policy (AWS::IAM::Policy, AWS::IAM::ManagedPolicy, inline role policies) that grants an action AWS classes
as "Permissions management" on Resource "*" with no Condition, when IAM could narrow it (the action has a resource
type or a condition key to use). Also reports actions parliament does not know (a typo grants nothing).
"""
import json
import sys

from parliament import iam_definition

PRIVILEGES = {
    f"{service['prefix']}:{privilege['privilege']}".lower(): privilege
    for service in iam_definition
    for privilege in service["privileges"]
}


def statements(template):
    for rid, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        docs = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs.append(props["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            docs.extend(p["PolicyDocument"] for p in props.get("Policies", []))
        for doc in docs:
            for statement in doc["Statement"]:
                yield rid, statement


def as_list(value):
    return value if isinstance(value, list) else [value]


def narrowable(info):
    """Whether IAM offers anything to narrow the action with: a resource type, or a condition key."""
    for resource_type in info["resource_types"]:
        if resource_type["resource_type"] or resource_type["condition_keys"]:
            return True
    return False


def main():
    payload = json.load(sys.stdin)
    findings = []
    for name, template in payload["templates"].items():
        for rid, statement in statements(template):
            if statement.get("Effect") != "Allow":
                continue
            resources = as_list(statement.get("Resource", []))
            for action in as_list(statement.get("Action", [])):
                info = PRIVILEGES.get(action.lower())
                if info is None:
                    findings.append({"where": f"{name}/{rid}", "action": action, "issue": "UNKNOWN_ACTION"})
                    continue
                if info["access_level"] != "Permissions management":
                    continue
                if "*" in resources and "Condition" not in statement and narrowable(info):
                    findings.append({"where": f"{name}/{rid}", "action": action, "issue": "PERMISSIONS_MANAGEMENT_ON_STAR"})
    json.dump(findings, sys.stdout)


if __name__ == "__main__":
    main()
