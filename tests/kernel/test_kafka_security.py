"""Kafka connection security comes from the environment, the same for every client."""
import ssl

from gx_kernel.kafka import KafkaSecurity, client_options


def test_plaintext_by_default(monkeypatch):
    for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                 "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CAFILE"):
        monkeypatch.delenv(name, raising=False)
    assert client_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_with_scram(monkeypatch):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "agri")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    opts = client_options()
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == ("agri", "s3cret")
    assert isinstance(opts["ssl_context"], ssl.SSLContext)


def test_sasl_plaintext_has_no_tls():
    opts = KafkaSecurity(KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                         KAFKA_SASL_MECHANISM="SCRAM-SHA-256").client_options()
    assert "ssl_context" not in opts and opts["sasl_mechanism"] == "SCRAM-SHA-256"
