"""The SAM template: lint-clean, transforms, matches the handlers' routes, and the layer builds for arm64."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from loyalty_local.template import PROJECT_ROOT, TEMPLATE_PATH, load_template, read_stack

MODULES = {"MembersFunction": "members", "PurchasesFunction": "purchases", "RedemptionsFunction": "redemptions",
           "CatalogFunction": "catalog", "AdminFunction": "admin", "EngagementFunction": "engagement",
           "ReportsFunction": "reports", "MechanicsFunction": "mechanics"}


def test_cfn_lint_is_clean() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(TEMPLATE_PATH)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sam_transform_succeeds() -> None:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    template = load_template()
    # As after `sam package`: local code paths become S3 locations.
    for resource in template["Resources"].values():
        for name in ("CodeUri", "ContentUri"):
            if name in resource.get("Properties", {}):
                resource["Properties"][name] = "s3://artifacts/loyalty.zip"
    output = transform(template, {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
                                         "AWS::StackName": "loyalty", "AWS::Partition": "aws"},
                       NoManagedPolicies())
    kinds = {resource["Type"] for resource in output["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::ApiGatewayV2::Api", "AWS::Lambda::EventSourceMapping",
            "AWS::Lambda::LayerVersion"} <= kinds
    api = next(r for r in output["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api")
    scheme = api["Properties"]["Body"]["components"]["securitySchemes"]["CognitoJwt"]
    assert scheme["x-amazon-apigateway-authorizer"]["type"] == "jwt"
    # Every route but the CORS preflight is behind the JWT authorizer
    for path, operations in api["Properties"]["Body"]["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security") == [{"CognitoJwt": []}], (method, path)


def test_every_template_route_is_served_by_its_handler() -> None:
    stack = read_stack()
    for route in stack.routes:
        if route.function not in MODULES:
            continue
        module = importlib.import_module(f"functions.{MODULES[route.function]}.handler")
        served = {(r.method, r.openapi_path) for r in module.app._static_routes + module.app._dynamic_routes}
        assert (route.method, route.path) in served, f"{route.method} {route.path} not in {route.function}"


def test_the_layer_requirements_match_the_project_dependencies() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (PROJECT_ROOT / "layers/loyalty/requirements.txt").read_text().splitlines()
    layer = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert sorted(layer) == sorted(project)


@pytest.mark.timeout(600)
def test_the_layer_builds_with_arm64_wheels_for_python_3_13(tmp_path: Path) -> None:
    # What `sam build` runs for BuildMethod: makefile, without Docker.
    result = subprocess.run(
        ["make", "-C", str(PROJECT_ROOT / "layers/loyalty"), "build-LoyaltyLayer", f"ARTIFACTS_DIR={tmp_path}",
         f"PYTHON={sys.executable}"], capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    built = tmp_path / "python"
    assert (built / "loyalty" / "domain" / "earning.py").exists()
    native = list(built.glob("pydantic_core/*.so"))
    assert native and all("cpython-313-aarch64-linux-gnu" in path.name for path in native)
