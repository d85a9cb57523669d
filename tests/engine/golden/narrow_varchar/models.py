"""Narrowing a varchar fails on longer values: the plan counts them before anything runs."""

from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
Table("people", metadata, Column("id", Integer, primary_key=True), Column("code", String(10)))
