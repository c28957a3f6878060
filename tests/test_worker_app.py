import os
import subprocess
import sys

import pytest


def test_worker_without_replai_credentials_exits_with_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_REPLAI")}
    cmd = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-P", "threads",
           "-c", "1", "-l", "WARNING"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=50)
    assert done.returncode == 78  # EX_CONFIG: `broadcaster worker` does not start it again
    assert "error: set BROADCASTER_REPLAI_TOKEN" in done.stderr


def test_celery_app_uses_the_configured_queue():
    code = "from workers.app import app; print(app.conf.task_default_queue)"
    env = os.environ | {"BROADCASTER_QUEUE": "campaigns-eu"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "campaigns-eu"


def test_broker_options_give_each_broker_its_guarantees():
    from broadcaster.settings import Settings
    from workers.app import create_app

    redis_app = create_app(Settings(broker_url="redis://127.0.0.1:1/3", redis_socket_timeout=7))
    options = redis_app.conf.broker_transport_options
    assert options["visibility_timeout"] == 3600 and options["socket_timeout"] == 7
    assert redis_app.conf.broker_transport == "workers.broker:RedisTransport"
    amqp = create_app(Settings(broker_url="amqp://guest:guest@127.0.0.1:1/x"))
    assert amqp.conf.broker_transport_options == {"confirm_publish": True}
    (queue,) = amqp.conf.task_queues
    assert queue.durable and not queue.queue_arguments  # classic
    quorum = create_app(Settings(broker_url="amqp://h/x", rabbitmq_queue_type="quorum"))
    assert quorum.conf.task_queues[0].queue_arguments == {"x-queue-type": "quorum"}
    for app in (redis_app, amqp, quorum):
        assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
        assert app.conf.broker_channel_error_retry  # a full Redis must not end the worker
        assert app.conf.broker_connection_max_retries is None  # a broker away: wait for it


def test_rabbitmq_keeps_sends_in_a_durable_queue_as_persistent_confirmed_messages(
    rabbitmq_broker,
):
    from amqp.exceptions import PreconditionFailed
    from kombu import Queue

    app = rabbitmq_broker.app
    rabbitmq_broker.dispatch().publish("c0ffee", [0, 1, 2])  # no worker: it stays queued
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert connection.connection.confirm_publish  # every publish waits for the broker's ack
        queue = Queue(app.conf.task_default_queue).bind(channel)
        message = queue.get(no_ack=False)
        assert message.properties["delivery_mode"] == 2  # persistent: survives a restart
        assert message.headers["task"] == "broadcaster.send_messages"
        message.requeue()
        with pytest.raises(PreconditionFailed, match="durable"):
            Queue(app.conf.task_default_queue, durable=False).bind(channel).declare()
