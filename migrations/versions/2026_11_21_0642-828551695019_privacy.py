"""privacy: data exports (a user's data as a zip, downloadable once)

Revision ID: 828551695019
Revises: 7c2d9e41a5b3
Create Date: 2026-11-21 06:42:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '828551695019'
down_revision: str | None = '7c2d9e41a5b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_exports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='QUEUED', nullable=False),
    sa.Column('formats', postgresql.ARRAY(sa.String(length=8)), server_default='{JSON,CSV}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('downloaded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.CHAR(length=64), nullable=True),
    sa.Column('token_hash', sa.CHAR(length=64), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_exports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_exports'))
    )
    op.create_index('ix_data_exports_user_created', 'data_exports', ['user_id', sa.literal_column('created_at DESC'), sa.literal_column('id DESC')], unique=False)
    op.create_index('ix_data_exports_ready_expires', 'data_exports', ['expires_at'], unique=False, postgresql_where=sa.text("state = 'READY'"))


def downgrade() -> None:
    op.drop_index('ix_data_exports_ready_expires', table_name='data_exports', postgresql_where=sa.text("state = 'READY'"))
    op.drop_index('ix_data_exports_user_created', table_name='data_exports')
    op.drop_table('data_exports')
