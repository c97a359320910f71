"""Bounds on quantities: an amount over 2^40 in any request carrying Resources, or a capacity
change taking a pool's capacity beyond +-2^50 at some instant, is INVALID_ARGUMENT naming the
field, and writes nothing; QueryCapacity keeps working."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App

from support import at, bad_fields, make_pool, reserve

INT64_MAX = 9_223_372_036_854_775_807
MAX_AMOUNT = 2**40


async def rejected(app: App, call: Awaitable[Any]) -> set[str]:
    before = await app.events.bounds()
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert await app.events.bounds() == before
    return bad_fields(failure.value)


async def query(client: AsyncClient) -> pb.PoolCapacity:
    response = await client.reservations.QueryCapacity(pb.QueryCapacityRequest(
        pool_ids=["pool-a"], start_time=at(0), end_time=at(3)))
    return response.pools[0]


async def test_amounts_over_the_bound_are_refused(server: App, client: AsyncClient) -> None:
    await make_pool(client, cores=1)
    huge = pb.Resources(cores=INT64_MAX, ram_mb=MAX_AMOUNT + 1, volumes=MAX_AMOUNT)
    assert await rejected(server, client.reservations.IncreaseCapacity(
        pb.IncreaseCapacityRequest(pool_id="pool-a", resources=huge))) == {
        "resources.cores", "resources.ram_mb"}
    assert await rejected(server, client.reservations.DecreaseCapacity(
        pb.DecreaseCapacityRequest(pool_id="pool-a", resources=huge))) == {
        "resources.cores", "resources.ram_mb"}
    assert await rejected(server, client.reservations.CreateReservation(
        pb.CreateReservationRequest(reservation=pb.Reservation(
            pool_id="pool-a", start_time=at(1), end_time=at(2), resources=huge)))) == {
        "reservation.resources.cores", "reservation.resources.ram_mb"}
    r = await reserve(client, 1, 2, cores=1)
    assert await rejected(server, client.reservations.UpdateReservation(
        pb.UpdateReservationRequest(reservation=pb.Reservation(id=r.id, resources=huge),
                                    update_mask=FieldMask(paths=["resources"])))) == {
        "reservation.resources.cores", "reservation.resources.ram_mb"}
    assert (await query(client)).maximum.total.cores == 1


async def test_capacity_stays_within_the_pool_bound(server: App, client: AsyncClient) -> None:
    """16 increases of 2^40 over one window reach 2^44 there: allowed; one more core there is
    not, while elsewhere it is; nor a cut to below -2^44."""
    await make_pool(client, cores=1)
    step = pb.IncreaseCapacityRequest(pool_id="pool-a", resources=pb.Resources(cores=MAX_AMOUNT),
                                      start_time=at(1), end_time=at(2))
    for _ in range(15):
        await client.reservations.IncreaseCapacity(step)
    await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=MAX_AMOUNT - 1), start_time=at(1),
        end_time=at(2)))
    assert (await query(client)).maximum.total.cores == 2**44
    assert await rejected(server, client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=1), start_time=at(0.5),
        end_time=at(1.5)))) == {"resources.cores"}
    await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=1), start_time=at(2)))
    figures = await query(client)
    assert (figures.minimum.total.cores, figures.maximum.total.cores) == (1, 2**44)
    cut = pb.DecreaseCapacityRequest(pool_id="pool-a", resources=pb.Resources(cores=MAX_AMOUNT),
                                     start_time=at(2), end_time=at(3))
    for _ in range(16):
        await client.reservations.DecreaseCapacity(cut)
    assert await rejected(server, client.reservations.DecreaseCapacity(cut)) == {
        "resources.cores"}
