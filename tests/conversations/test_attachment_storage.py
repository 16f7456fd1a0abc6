"""Where photos are kept: local files by default, or an S3-compatible bucket every process shares.

The S3 tests talk to a real S3-compatible server (moto's, in a thread of this process, on a free
port); the last one starts two web processes that share nothing but that store and the database.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage
from django.test import Client

import supportbot.settings as product_settings
from bench import stack
from conversations import attachments
from conversations.models import Attachment, Message
from tests.conftest import ALLOWED_ORIGIN
from tests.conversations.test_attachments import UPLOAD_URL, photo_bytes, upload
from tests.test_scaleout import database_url_shared

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "supportbot-photos"
REGION = "us-east-1"
# moto accepts any credentials; these are what the product is configured with, as it would be for a real store.
ACCESS_KEY, SECRET_KEY = "supportbot-test-key", "supportbot-test-secret"
STORAGE_VARIABLES = (
    "SUPPORTBOT_ATTACHMENTS_STORAGE",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


def s3_env(endpoint: str) -> dict[str, str]:
    return {
        "SUPPORTBOT_ATTACHMENTS_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }


def s3_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def bucket_object(endpoint: str, key: str) -> bytes | None:
    client = s3_client(endpoint)
    try:
        return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a free port, with an empty private bucket."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def s3_storage(settings, monkeypatch, s3_endpoint, tmp_path) -> str:
    """The product configured for the bucket exactly as its settings read the environment."""
    for name, value in s3_env(s3_endpoint).items():
        monkeypatch.setenv(name, value)
    settings.DATA_DIR = tmp_path / "data"
    settings.STORAGES = {**settings.STORAGES, "attachments": product_settings._attachments_storage("s3")}
    return s3_endpoint


# --- configuration ---------------------------------------------------------------------------


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A management command in a fresh product process, its storage settings read from ``env`` only."""
    environment = {name: value for name, value in os.environ.items() if name not in STORAGE_VARIABLES}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_by_default_photos_are_files_in_the_data_folder_outside_every_served_path(tmp_path):
    code = (
        "import json, sys; from django.conf import settings; from conversations import attachments;"
        "storage = attachments.attachment_storage();"
        "print(json.dumps({'class': type(storage).__name__, 'location': storage.location,"
        " 'static_root': str(settings.STATIC_ROOT), 'file_mode': storage.file_permissions_mode,"
        " 'directory_mode': storage.directory_permissions_mode, 'boto': 'botocore' in sys.modules}))"
    )
    result = manage("shell", "-c", code, SUPPORTBOT_DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout.strip().splitlines()[-1])
    assert storage["class"] == "FileSystemStorage"
    assert Path(storage["location"]) == tmp_path / "attachments"
    assert not Path(storage["location"]).is_relative_to(storage["static_root"])
    assert (storage["file_mode"], storage["directory_mode"]) == (0o600, 0o700)
    assert storage["boto"] is False  # the S3 client costs a process nothing unless S3 is chosen


def test_an_unknown_storage_stops_start_up_naming_the_variable():
    result = manage("check", SUPPORTBOT_ATTACHMENTS_STORAGE="disk")
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr
    assert "SUPPORTBOT_ATTACHMENTS_STORAGE" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"AWS_STORAGE_BUCKET_NAME": ""}, "AWS_STORAGE_BUCKET_NAME"),
        ({"AWS_SECRET_ACCESS_KEY": ""}, "AWS_ACCESS_KEY_ID"),
        ({"AWS_S3_ENDPOINT_URL": "minio:9000"}, "AWS_S3_ENDPOINT_URL"),
    ],
)
def test_an_incomplete_s3_configuration_is_refused_naming_the_variable(monkeypatch, changes, named):
    for name, value in {**s3_env("http://127.0.0.1:9000"), **changes}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=named):
        product_settings._attachments_storage("s3")


def test_without_keys_s3_leaves_credentials_to_boto3(monkeypatch):
    for name, value in s3_env("https://s3.example.com").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    options = product_settings._attachments_storage("s3")["OPTIONS"]
    assert isinstance(options, dict)
    assert (options["access_key"], options["secret_key"]) == (None, None)  # an instance or task role
    assert options["bucket_name"] == BUCKET and options["default_acl"] is None


# --- one process, S3 ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_photo_is_kept_in_the_bucket_and_served_from_it_to_its_visitor_and_staff(
    s3_storage, client, customer_session, agent, settings
):
    _, token = customer_session
    response = upload(client, token=token, data=photo_bytes(exif_make="SecretCam-4711"))
    assert response.status_code == 201
    stored = Attachment.objects.get(public_id=response.json()["attachment"]["id"])

    kept = bucket_object(s3_storage, f"attachments/{stored.stored_name}")
    assert kept is not None and kept.startswith(b"\xff\xd8\xff") and b"SecretCam-4711" not in kept
    assert not (settings.DATA_DIR / "attachments").exists()

    url = f"{UPLOAD_URL}/{stored.public_id}"
    own = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ORIGIN=ALLOWED_ORIGIN)
    assert own.status_code == 200 and own.content == kept
    staff = Client()
    staff.force_login(agent)
    assert staff.get(url).content == kept
    assert Client().get(url).status_code == 404


@pytest.mark.django_db
def test_a_photo_gone_from_the_bucket_is_404_and_left_out_of_the_answer(s3_storage, client, customer_session, caplog):
    public_id, token = customer_session
    body = upload(client, token=token, data=photo_bytes()).json()["attachment"]
    stored = Attachment.objects.select_related("conversation").get(public_id=body["id"])
    message, _ = attachments.attachment_message_take(
        conversation_id=stored.conversation_id, attachment_public_id=stored.public_id, text="torn", client_id="p-1"
    )
    assert attachments.message_image_data_url(message=message).startswith("data:image/jpeg;base64,")

    s3_client(s3_storage).delete_object(Bucket=BUCKET, Key=f"attachments/{stored.stored_name}")
    url = f"{UPLOAD_URL}/{stored.public_id}"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404
    assert attachments.message_image_data_url(message=message) is None
    assert f"photo {stored.public_id} of message {message.pk} is missing from storage" in caplog.text


class UnreadableStorage(FileSystemStorage):
    """A store that holds the photo but fails every read, as one that is down or refuses us does."""

    def _open(self, name: str, mode: str = "rb"):
        raise PermissionError(13, "Access Denied", name)


@pytest.mark.django_db
def test_an_unreadable_store_leaves_the_photo_out_of_the_answer_and_logs_why(
    settings, tmp_path, client, customer_session, caplog
):
    location = tmp_path / "photos"
    unreadable = {"BACKEND": f"{__name__}.UnreadableStorage", "OPTIONS": {"location": location}}
    settings.STORAGES = {**settings.STORAGES, "attachments": unreadable}
    _, token = customer_session
    body = upload(client, token=token, data=photo_bytes()).json()["attachment"]
    stored = Attachment.objects.get(public_id=body["id"])
    assert (location / stored.stored_name).exists()
    message, _ = attachments.attachment_message_take(
        conversation_id=stored.conversation_id, attachment_public_id=stored.public_id, text="torn", client_id="p-1"
    )
    assert attachments.message_image_data_url(message=message) is None
    assert "could not be read; answering without it" in caplog.text and "PermissionError" in caplog.text
    assert Message.objects.filter(pk=message.pk).exists()


# --- two processes, one bucket ---------------------------------------------------------------------


def multipart_photo(data: bytes) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def http(url: str, *, data: bytes | None = None, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


@pytest.fixture
def agent_session_cookie(agent) -> str:
    client = Client()
    client.force_login(agent)
    return client.cookies["sessionid"].value


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_photo_uploaded_through_one_process_is_served_by_another_sharing_only_the_store_and_database(
    s3_endpoint, tmp_path, agent_session_cookie
):
    from django.conf import settings

    data_dirs = [tmp_path / "web-a", tmp_path / "web-b"]
    ports = [stack.port_free(), stack.port_free()]
    processes = []
    for data_dir, port in zip(data_dirs, ports, strict=True):
        env = stack.product_env(data_dir=data_dir, redis_url="", model_url="http://127.0.0.1:9/v1")
        # No Redis: each has its own in-memory channel layer and cache. The database and the bucket
        # are all the two share.
        env = {name: value for name, value in env.items() if name not in {"REDIS_URL", *STORAGE_VARIABLES}}
        env.update(s3_env(s3_endpoint), DATABASE_URL=database_url_shared(), SECRET_KEY=settings.SECRET_KEY)
        processes.append(stack.asgi_server_spawn(server="daphne", port=port, env=env))
    try:
        for process, port in zip(processes, ports, strict=True):
            stack.asgi_server_ready(process, port=port)
        a, b = (f"http://127.0.0.1:{port}" for port in ports)

        session = stack.session_open(port=ports[0])
        body, content_type = multipart_photo(photo_bytes(size=(320, 240)))
        headers = {"Origin": ALLOWED_ORIGIN, "Authorization": f"Bearer {session['token']}"}
        status, uploaded = http(f"{a}{UPLOAD_URL}", data=body, headers={**headers, "Content-Type": content_type})
        assert status == 201, uploaded
        photo = json.loads(uploaded)["attachment"]

        status, served = http(f"{b}{photo['url']}", headers=headers)
        assert status == 200 and served.startswith(b"\xff\xd8\xff")
        stored_name = Attachment.objects.get(public_id=photo["id"]).stored_name
        assert served == bucket_object(s3_endpoint, f"attachments/{stored_name}")
        status, staff_copy = http(f"{b}{photo['url']}", headers={"Cookie": f"sessionid={agent_session_cookie}"})
        assert (status, staff_copy) == (200, served)
        assert http(f"{b}{photo['url']}", headers={})[0] == 404
        # Neither process kept a copy of its own.
        assert [sorted(p.name for p in d.rglob("*") if p.suffix == ".jpg") for d in data_dirs] == [[], []]
    finally:
        for process in processes:
            stack.process_stop(process)
