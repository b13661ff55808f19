package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/internal/driverkit"
)

// KeyUsage counts sealed values per table and key id.
func (s *Store) KeyUsage(ctx context.Context) ([]store.KeyCount, error) {
	var parts []string
	for _, c := range driverkit.SealedColumns {
		parts = append(parts, fmt.Sprintf("SELECT '%s'::text, %s, count(*) FROM %s GROUP BY %s", c.Table, c.KeyCol, c.Table, c.KeyCol))
	}
	rows, err := s.pool.Query(ctx, strings.Join(parts, " UNION ALL ")+" ORDER BY 1, 2")
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []store.KeyCount{}
	for rows.Next() {
		var k store.KeyCount
		if err := rows.Scan(&k.Table, &k.KeyID, &k.Count); err != nil {
			return nil, dbErr(err)
		}
		out = append(out, k)
	}
	return out, dbErr(rows.Err())
}

// Reseal rewrites up to limit sealed values not on the current key, one
// transaction per table batch. Rows another resealer has locked are skipped
// (FOR UPDATE SKIP LOCKED); when that leaves nothing, it waits for the
// locks instead, so 0 really means that no row remains.
func (s *Store) Reseal(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = driverkit.DefaultResealBatch
	}
	cur := s.sealer.CurrentKeyID()
	done := 0
	for _, col := range driverkit.SealedColumns {
		if done >= limit {
			break
		}
		n, err := s.resealBatch(ctx, col, cur, limit-done, true)
		if err == nil && n == 0 {
			n, err = s.resealBatch(ctx, col, cur, limit-done, false)
		}
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (s *Store) resealBatch(ctx context.Context, col driverkit.SealedColumn, cur string, limit int, skipLocked bool) (int, error) {
	lock := "FOR UPDATE"
	if skipLocked {
		lock += " SKIP LOCKED"
	}
	sel := fmt.Sprintf("SELECT %s::text, %s, %s, %s FROM %s WHERE %s <> $1 LIMIT $2 %s",
		col.IDCol, strings.Join(col.ADCols, ", "), col.KeyCol, col.ValueCol, col.Table, col.KeyCol, lock)
	upd := fmt.Sprintf("UPDATE %s SET %s = $1, %s = $2 WHERE %s::text = $3 AND %s = $4",
		col.Table, col.ValueCol, col.KeyCol, col.IDCol, col.KeyCol)
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sel, cur, limit)
		if err != nil {
			return dbErr(err)
		}
		type row struct {
			id, keyID, stored string
			ad                []string
		}
		var batch []row
		for rows.Next() {
			r := row{ad: make([]string, len(col.ADCols))}
			dest := []any{&r.id}
			for i := range r.ad {
				dest = append(dest, &r.ad[i])
			}
			dest = append(dest, &r.keyID, &r.stored)
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return dbErr(err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(err)
		}
		if len(batch) == 0 {
			return nil
		}
		var b pgx.Batch
		for _, r := range batch {
			stored, keyID, err := store.ResealValue(s.sealer, r.stored, r.keyID, col.AD(r.ad))
			if err != nil {
				return fmt.Errorf("postgres: resealing %s.%s of row %s: %w", col.Table, col.ValueCol, r.id, err)
			}
			b.Queue(upd, stored, keyID, r.id, r.keyID)
		}
		br := tx.SendBatch(ctx, &b)
		for range batch {
			tag, err := br.Exec()
			if err != nil {
				_ = br.Close()
				return dbErr(err)
			}
			n += int(tag.RowsAffected())
		}
		return dbErr(br.Close())
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
