"""PostgreSQL + pgvector backend: HNSW cosine index for dense, tsvector + GIN with BM25 for lexical.

One table per embedding model holds every tenant; `tenant` leads the primary key and every query's
WHERE clause. Lexical scoring is BM25 over the analyzer's terms (indexed as a generated tsvector),
with IDF and average length measured over the caller's own stores.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from rag.stores.base import DimensionMismatchError, InvalidSearchError, SearchMode
from rag.stores.filters import Comparison, Compound, Filter, parse_filters
from rag.stores.fusion import (
    Scored,
    candidate_count,
    check_search_args,
    check_upsert_args,
    rrf_fuse,
    single_list_hits,
)
from rag.stores.lexical import LexicalAnalyzer
from rag.types import ChunkRecord, Hit

_CHUNK_COLUMNS = sql.SQL("tenant, chunk_id, store_id, file_id, position, text, heading_path, attributes")
_DDL_LOCK_KEY = 0x7261675F  # pg_advisory_xact_lock key: concurrent ensure_ready() calls queue up


def table_name(model_name: str, dim: int) -> str:
    """The table for one embedding model: rag_chunks_<model slug>_<dim>."""
    slug = re.sub(r"[^a-z0-9]+", "_", model_name.lower()).strip("_") or "model"
    return f"rag_chunks_{slug}_{dim}"[:63]


class PgVectorIndex:
    """VectorIndex over PostgreSQL with pgvector, through a psycopg connection pool."""

    def __init__(
        self,
        *,
        dim: int,
        database_url: str,
        model_name: str = "all-MiniLM-L6-v2",
        analyzer: LexicalAnalyzer | None = None,
        pool_size: int = 4,
    ) -> None:
        self.dim = dim
        self.table = table_name(model_name, dim)
        self.analyzer = analyzer or LexicalAnalyzer()
        self._database_url = database_url
        self._pool = ConnectionPool(
            database_url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            configure=register_vector,
            open=False,
        )
        self._ready = False

    def ensure_ready(self) -> None:
        """Create the extension, table and indexes if missing (idempotent), then open the pool."""
        if self._ready:
            return
        with psycopg.connect(self._database_url, autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            for statement in _schema(self.table, self.dim):
                conn.execute(statement)
            row = conn.execute(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'embedding'",
                (self.table,),
            ).fetchone()
        if row is None or row[0] != self.dim:
            raise DimensionMismatchError(f"table {self.table} has vector({row and row[0]}), need {self.dim}")
        self._pool.open(wait=True)
        self._ready = True

    def upsert(self, chunks: Sequence[ChunkRecord], vectors: np.ndarray) -> None:
        """Insert or replace chunks by (tenant, chunk_id)."""
        matrix = check_upsert_args(chunks, vectors, dim=self.dim)
        if not chunks:
            return
        self.ensure_ready()
        rows = []
        for chunk, vector in zip(chunks, matrix, strict=True):
            terms = self.analyzer.terms(chunk.text)
            rows.append(
                (
                    chunk.tenant,
                    chunk.chunk_id,
                    chunk.store_id,
                    chunk.file_id,
                    chunk.position,
                    chunk.text,
                    list(chunk.heading_path),
                    json.dumps(chunk.attributes),
                    " ".join(terms),
                    len(terms),
                    json.dumps(Counter(terms)),
                    vector,
                )
            )
        statement = sql.SQL(
            "INSERT INTO {table} ({columns}, lexical_text, lexical_length, term_frequencies, embedding) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s::jsonb, %s) "
            "ON CONFLICT (tenant, chunk_id) DO UPDATE SET store_id = EXCLUDED.store_id, "
            "file_id = EXCLUDED.file_id, position = EXCLUDED.position, text = EXCLUDED.text, "
            "heading_path = EXCLUDED.heading_path, attributes = EXCLUDED.attributes, "
            "lexical_text = EXCLUDED.lexical_text, lexical_length = EXCLUDED.lexical_length, "
            "term_frequencies = EXCLUDED.term_frequencies, "
            "embedding = EXCLUDED.embedding"
        ).format(table=sql.Identifier(self.table), columns=_CHUNK_COLUMNS)
        postings = [
            (chunk.tenant, term, chunk.chunk_id, chunk.store_id, float(tf), length)
            for chunk, (_, _, _, _, _, _, _, _, _, length, frequencies, _) in zip(chunks, rows, strict=True)
            for term, tf in json.loads(frequencies).items()
        ]
        p = sql.Identifier(postings_table(self.table))
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(statement, rows)
            # A re-upserted chunk (new text, or moved to another store) gets its postings anew.
            for tenant in {chunk.tenant for chunk in chunks}:
                cur.execute(
                    sql.SQL("DELETE FROM {p} WHERE tenant = %s AND chunk_id = ANY(%s)").format(p=p),
                    (tenant, [c.chunk_id for c in chunks if c.tenant == tenant]),
                )
            with cur.copy(
                sql.SQL("COPY {p} (tenant, term, chunk_id, store_id, tf, doc_length) FROM STDIN").format(p=p)
            ) as copy:
                for posting in postings:
                    copy.write_row(posting)

    def delete_file(self, *, tenant: str, store_id: str, file_id: str) -> int:
        """Delete one file's chunks in one store of the tenant; returns the count."""
        _check_ids(tenant=tenant, store_id=store_id, file_id=file_id)
        return self._delete(
            sql.SQL("tenant = %s AND store_id = %s AND file_id = %s"), (tenant, store_id, file_id)
        )

    def delete_store(self, *, tenant: str, store_id: str) -> int:
        """Delete every chunk in one store of the tenant; returns the count."""
        _check_ids(tenant=tenant, store_id=store_id)
        return self._delete(sql.SQL("tenant = %s AND store_id = %s"), (tenant, store_id))

    def _delete(self, where: sql.Composable, params: tuple[str, ...]) -> int:
        self.ensure_ready()
        statement = sql.SQL("DELETE FROM {table} WHERE {where}").format(
            table=sql.Identifier(self.table), where=where
        )
        with self._pool.connection() as conn:
            return conn.execute(statement, params).rowcount

    def search(
        self,
        *,
        tenant: str,
        store_ids: Sequence[str],
        query_text: str,
        query_vector: np.ndarray,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filters: Mapping[str, object] | None = None,
    ) -> list[Hit]:
        """Dense, lexical (BM25) or hybrid (RRF of both) search within the tenant's stores."""
        vector = check_search_args(
            tenant=tenant, store_ids=store_ids, query_vector=query_vector, dim=self.dim, k=k, mode=mode
        )
        parsed = parse_filters(filters)
        if not store_ids:
            return []
        self.ensure_ready()
        filter_sql, filter_params = _filter_sql(parsed)
        scope = {"tenant": tenant, "stores": list(store_ids)}
        limit = k if mode != "hybrid" else candidate_count(k)
        with self._pool.connection() as conn:
            dense = (
                self._dense(conn, vector, scope, filter_sql, filter_params, limit)
                if mode != "lexical"
                else []
            )
            lexical = (
                self._lexical(conn, query_text, scope, filter_sql, filter_params, limit)
                if mode != "dense"
                else []
            )
        if mode == "hybrid":
            return rrf_fuse(dense, lexical, k=k)
        return single_list_hits(dense if mode == "dense" else lexical, dense=mode == "dense", k=k)

    def _dense(
        self,
        conn: psycopg.Connection[Any],
        vector: np.ndarray,
        scope: dict[str, Any],
        filter_sql: sql.Composable,
        filter_params: dict[str, Any],
        limit: int,
    ) -> list[Scored]:
        statement = sql.SQL(
            "SELECT {columns}, embedding <=> %(vector)s AS distance FROM {table} "
            "WHERE tenant = %(tenant)s AND store_id = ANY(%(stores)s) AND {filters} "
            "ORDER BY embedding <=> %(vector)s LIMIT %(limit)s"
        ).format(columns=_CHUNK_COLUMNS, table=sql.Identifier(self.table), filters=filter_sql)
        params = {**filter_params, **scope, "vector": vector, "limit": limit}
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            # Filtered HNSW scans keep going until `limit` rows pass the filter (pgvector >= 0.8).
            cur.execute(
                "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                "set_config('hnsw.ef_search', %s, true)",
                (str(min(1000, max(64, limit))),),
            )
            rows = cur.execute(statement, params).fetchall()
        # relaxed_order may return rows slightly out of order: sort by the exact distance.
        rows.sort(key=lambda row: (row["distance"], row["chunk_id"]))
        return [Scored(_chunk(row), 1.0 - float(row["distance"])) for row in rows]

    def _lexical(
        self,
        conn: psycopg.Connection[Any],
        query_text: str,
        scope: dict[str, Any],
        filter_sql: sql.Composable,
        filter_params: dict[str, Any],
        limit: int,
    ) -> list[Scored]:
        terms = sorted(set(self.analyzer.terms(query_text)))
        if not terms:
            return []
        statement = _bm25_query(self.table, filter_sql)
        params = {
            **filter_params,
            **scope,
            "terms": terms,
            "k1": self.analyzer.k1,
            "b": self.analyzer.b,
            "limit": limit,
        }
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(statement, params).fetchall()
        return [Scored(_chunk(row), float(row["score"])) for row in rows]

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.close()


def _schema(table: str, dim: int) -> list[sql.Composed]:
    ident = sql.Identifier(table)

    def index(suffix: str) -> sql.Identifier:
        return sql.Identifier(f"{table[:50]}_{suffix}")

    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} ("
            "tenant text NOT NULL, chunk_id text NOT NULL, store_id text NOT NULL, file_id text NOT NULL, "
            "position integer NOT NULL, text text NOT NULL, heading_path text[] NOT NULL DEFAULT '{{}}', "
            "attributes jsonb NOT NULL DEFAULT '{{}}', lexical_text text NOT NULL, "
            "lexical_length integer NOT NULL, term_frequencies jsonb NOT NULL DEFAULT '{{}}', "
            "lexical tsvector GENERATED ALWAYS AS (to_tsvector('simple', lexical_text)) STORED, "
            "embedding vector({dim}) NOT NULL, PRIMARY KEY (tenant, chunk_id))"
        ).format(t=ident, dim=sql.Literal(dim)),
        # Tables made before the term-frequency column get it (their rows score 0 until re-upserted).
        sql.SQL(
            "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS term_frequencies jsonb NOT NULL DEFAULT '{{}}'"
        ).format(t=ident),
        sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (tenant, store_id, file_id)").format(
            i=index("scope"), t=ident
        ),
        sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} USING hnsw (embedding vector_cosine_ops)").format(
            i=index("hnsw"), t=ident
        ),
        sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} USING gin (lexical)").format(i=index("gin"), t=ident),
        sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} USING gin (attributes jsonb_path_ops)").format(
            i=index("attrs"), t=ident
        ),
        # An inverted index for BM25: one row per (chunk, term), found by term through the primary key;
        # rows follow their chunk (deleted with it by the foreign key).
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {p} ("
            "tenant text NOT NULL, term text NOT NULL, chunk_id text NOT NULL, store_id text NOT NULL, "
            "tf real NOT NULL, doc_length integer NOT NULL, PRIMARY KEY (tenant, term, chunk_id), "
            "FOREIGN KEY (tenant, chunk_id) REFERENCES {t} (tenant, chunk_id) ON DELETE CASCADE)"
        ).format(p=sql.Identifier(postings_table(table)), t=ident),
        sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {p} (tenant, chunk_id)").format(
            i=index("postings_chunk"), p=sql.Identifier(postings_table(table))
        ),
        # Chunks stored before the postings table existed get their rows from the term-frequency map.
        sql.SQL(
            "INSERT INTO {p} (tenant, term, chunk_id, store_id, tf, doc_length) "
            "SELECT c.tenant, f.key, c.chunk_id, c.store_id, f.value::real, c.lexical_length "
            "FROM {t} c CROSS JOIN LATERAL jsonb_each_text(c.term_frequencies) f "
            "WHERE NOT EXISTS (SELECT 1 FROM {p} x WHERE x.tenant = c.tenant AND x.chunk_id = c.chunk_id) "
            "ON CONFLICT DO NOTHING"
        ).format(p=sql.Identifier(postings_table(table)), t=ident),
    ]


def postings_table(table: str) -> str:
    return f"{table[:54]}_postings"


def _bm25_query(table: str, filter_sql: sql.Composable) -> sql.Composed:
    """BM25 with IDF ln((N − df + 0.5)/(df + 0.5) + 1) and avgdl over the tenant's chosen stores.

    Term frequencies, document frequencies and lengths come from the postings table (an index lookup per
    query term), so the cost follows the query's terms rather than the size of every matching chunk.
    """
    return sql.SQL(
        """
        WITH scope_stats AS (
            SELECT count(*)::float8 AS n, greatest(avg(lexical_length), 1)::float8 AS avgdl
            FROM {t} WHERE tenant = %(tenant)s AND store_id = ANY(%(stores)s)
        ), hits AS (
            SELECT term, chunk_id, tf, doc_length FROM {p}
            WHERE tenant = %(tenant)s AND term = ANY(%(terms)s) AND store_id = ANY(%(stores)s)
        ), term_idf AS (
            SELECT h.term, ln((s.n - count(*) + 0.5) / (count(*) + 0.5) + 1) AS idf
            FROM hits h CROSS JOIN scope_stats s GROUP BY h.term, s.n
        ), scored AS (
            SELECT h.chunk_id, sum(
                i.idf * h.tf * (%(k1)s + 1)
                / (h.tf + %(k1)s * (1 - %(b)s + %(b)s * h.doc_length / s.avgdl))
            ) AS score
            FROM hits h JOIN term_idf i USING (term) CROSS JOIN scope_stats s
            GROUP BY h.chunk_id
        )
        SELECT {columns}, scored.score FROM scored
        JOIN {t} ON {t}.tenant = %(tenant)s AND {t}.chunk_id = scored.chunk_id
        WHERE {filters}
        ORDER BY scored.score DESC, scored.chunk_id
        LIMIT %(limit)s
        """
    ).format(
        t=sql.Identifier(table),
        p=sql.Identifier(postings_table(table)),
        filters=filter_sql,
        columns=_qualified_columns(table),
    )


def _qualified_columns(table: str) -> sql.Composed:
    names = ["tenant", "chunk_id", "store_id", "file_id", "position", "text", "heading_path", "attributes"]
    return sql.SQL(", ").join(sql.Identifier(table, name) for name in names)


def _filter_sql(node: Filter | None) -> tuple[sql.Composable, dict[str, Any]]:
    """SQL for a filter tree with named placeholders (f0, f1, ...), and their values."""
    params: dict[str, Any] = {}
    if node is None:
        return sql.SQL("TRUE"), params
    return _node_sql(node, params), params


def _bind(params: dict[str, Any], value: Any) -> sql.Placeholder:
    name = f"f{len(params)}"
    params[name] = value
    return sql.Placeholder(name)


def _node_sql(node: Filter, params: dict[str, Any]) -> sql.Composable:
    if isinstance(node, Compound):
        joiner = sql.SQL(" AND ") if node.op == "and" else sql.SQL(" OR ")
        return sql.SQL("({})").format(joiner.join(_node_sql(child, params) for child in node.filters))
    return _comparison_sql(node, params)


def _comparison_sql(node: Comparison, params: dict[str, Any]) -> sql.Composable:
    if node.op in ("in", "nin"):
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        any_equal = sql.SQL("({})").format(
            sql.SQL(" OR ").join(_contains(node.key, v, params) for v in values)
        )
        return any_equal if node.op == "in" else sql.SQL("(NOT {})").format(any_equal)
    assert not isinstance(node.value, tuple)
    if node.op == "eq":
        return _contains(node.key, node.value, params)
    if node.op == "ne":
        return sql.SQL("(NOT {})").format(_contains(node.key, node.value, params))
    operator = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[node.op]
    key = _bind(params, node.key)
    # CASE guards the cast: a non-numeric value of the key simply does not match.
    return sql.SQL(
        "((CASE WHEN jsonb_typeof(attributes -> {key}::text) = 'number' "
        "THEN (attributes ->> {key}::text)::float8 END) {op} {bound}::float8)"
    ).format(key=key, op=sql.SQL(operator), bound=_bind(params, float(node.value)))


def _contains(key: str, value: object, params: dict[str, Any]) -> sql.Composable:
    # jsonb containment compares numbers numerically (1 = 1.0) and keeps booleans apart from numbers.
    return sql.SQL("(attributes @> {}::jsonb)").format(_bind(params, json.dumps({key: value})))


def _check_ids(**ids: str) -> None:
    for name, value in ids.items():
        if not isinstance(value, str) or not value:
            raise InvalidSearchError(f"{name} must be a non-empty string")


def _chunk(row: Mapping[str, Any]) -> ChunkRecord:
    return ChunkRecord(
        chunk_id=row["chunk_id"],
        tenant=row["tenant"],
        store_id=row["store_id"],
        file_id=row["file_id"],
        position=int(row["position"]),
        text=row["text"],
        heading_path=tuple(row["heading_path"] or ()),
        attributes=dict(row["attributes"] or {}),
    )
