"""What a Kafka consumer group looks like from the broker, for tests and benchmarks that change its members."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient


async def group_is_stable(bootstrap: str, group: str, members: int) -> bool:
    """True when `group` has finished rebalancing (state Stable) with exactly `members` members."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    _, _, state, _, _, found = response.groups[0][:6]
    return state == "Stable" and len(found) == members
