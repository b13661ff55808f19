package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/internal/driverkit"
)

// KeyUsage counts sealed values per table and key id.
func (s *Store) KeyUsage(ctx context.Context) ([]store.KeyCount, error) {
	var parts []string
	for _, c := range driverkit.SealedColumns {
		parts = append(parts, fmt.Sprintf("SELECT '%s', %s, count(*) FROM %s GROUP BY %s", c.Table, c.KeyCol, c.Table, c.KeyCol))
	}
	rows, err := s.r.QueryContext(ctx, strings.Join(parts, " UNION ALL ")+" ORDER BY 1, 2")
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
// transaction per table batch.
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
		n, err := s.resealBatch(ctx, col, cur, limit-done)
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (s *Store) resealBatch(ctx context.Context, col driverkit.SealedColumn, cur string, limit int) (int, error) {
	sel := fmt.Sprintf("SELECT %s, %s, %s, %s FROM %s WHERE %s <> ? LIMIT ?",
		col.IDCol, strings.Join(col.ADCols, ", "), col.KeyCol, col.ValueCol, col.Table, col.KeyCol)
	upd := fmt.Sprintf("UPDATE %s SET %s = ?, %s = ? WHERE %s = ? AND %s = ?",
		col.Table, col.ValueCol, col.KeyCol, col.IDCol, col.KeyCol)
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		type row struct {
			id            any
			ad            []string
			keyID, stored string
		}
		rows, err := tx.QueryContext(ctx, sel, cur, limit)
		if err != nil {
			return dbErr(err)
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
		for _, r := range batch {
			stored, keyID, err := store.ResealValue(s.sealer, r.stored, r.keyID, col.AD(r.ad))
			if err != nil {
				return fmt.Errorf("sqlite: resealing %s.%s of row %v: %w", col.Table, col.ValueCol, r.id, err)
			}
			res, err := tx.ExecContext(ctx, upd, stored, keyID, r.id, r.keyID)
			if err != nil {
				return dbErr(err)
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
