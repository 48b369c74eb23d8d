"""The local stack: moto server, HTTP gateway, stream poller and scheduler, all driven by infra/template.yaml."""
