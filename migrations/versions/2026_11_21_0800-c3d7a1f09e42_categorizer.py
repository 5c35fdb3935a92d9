"""categorizer: per-user trained category models, and the suggestion a guess below the threshold leaves

Revision ID: c3d7a1f09e42
Revises: a4f19c2e6b80
Create Date: 2026-11-21 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'c3d7a1f09e42'
down_revision: str | None = 'a4f19c2e6b80'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('category_models',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('trained_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('label_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('classes', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('model', sa.LargeBinary(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_category_models_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_category_models'))
    )
    op.add_column('transactions', sa.Column('suggested_category_id', sa.Uuid(), nullable=True))
    op.add_column('transactions', sa.Column('suggested_source', sa.String(length=12), nullable=True))
    op.add_column('transactions', sa.Column('suggested_confidence', sa.Numeric(precision=5, scale=4), nullable=True))


def downgrade() -> None:
    op.drop_column('transactions', 'suggested_confidence')
    op.drop_column('transactions', 'suggested_source')
    op.drop_column('transactions', 'suggested_category_id')
    op.drop_table('category_models')
