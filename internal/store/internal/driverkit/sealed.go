package driverkit

import "github.com/nango-go/nango/internal/store"

// SealedColumn describes one column that holds sealed values, for KeyUsage
// and Reseal. Both dialects name columns alike.
type SealedColumn struct {
	Table    string // table name, as KeyUsage reports it
	IDCol    string // primary key
	KeyCol   string // key id twin column
	ValueCol string // sealed value
	// ADCols are the columns whose values make the associated data, passed
	// to AD in order.
	ADCols []string
	AD     func(parts []string) []byte
}

// SealedColumns lists every sealed column of the schema.
var SealedColumns = []SealedColumn{
	{
		Table: store.TableIntegrations, IDCol: "id", KeyCol: "client_secret_key", ValueCol: "client_secret",
		ADCols: []string{"unique_key"},
		AD:     func(p []string) []byte { return store.ClientSecretAD(p[0]) },
	},
	{
		Table: store.TableConnections, IDCol: "id", KeyCol: "credentials_key", ValueCol: "credentials",
		ADCols: []string{"provider_config_key", "connection_id"},
		AD:     func(p []string) []byte { return store.CredentialsAD(p[0], p[1]) },
	},
	{
		Table: store.TableOAuthSessions, IDCol: "id", KeyCol: "secrets_key", ValueCol: "secrets",
		ADCols: []string{"id"},
		AD:     func(p []string) []byte { return store.SessionSecretsAD(p[0]) },
	},
}

// DefaultResealBatch is the batch size Reseal uses when given limit <= 0.
const DefaultResealBatch = 100
