package notify

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// NewCommand returns the "notify" command for the app's command line:
//
//	shop notify vapid           prints the web push public key
//	shop notify vapid --rotate  replaces the key pair
func NewCommand(app core.App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Notification plugin tools",
	}
	var rotate bool
	vapid := &cobra.Command{
		Use:   "vapid",
		Short: "Print the web push (VAPID) public key, or rotate the key pair",
		Long: "Prints the VAPID public key browsers subscribe with. With --rotate, generates a new pair;\n" +
			"existing push subscriptions cannot work with the new key and are deleted: customers'\n" +
			"browsers subscribe again on their next visit to the storefront.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.RunAllMigrations(); err != nil {
				return err
			}
			var err error
			keys, err := VAPIDKeys(app)
			if rotate {
				keys, err = RotateVAPIDKeys(app)
			}
			if err != nil {
				return err
			}
			if rotate {
				fmt.Fprintln(cmd.ErrOrStderr(), "Rotated. Existing push subscriptions were removed; browsers re-subscribe on their next visit.\n"+
					"A shop that is already serving hands out the new key at once.")
			}
			fmt.Fprintln(cmd.OutOrStdout(), keys.Public)
			return nil
		},
	}
	vapid.Flags().BoolVar(&rotate, "rotate", false, "generate a new key pair (existing subscriptions are removed)")
	cmd.AddCommand(vapid)
	return cmd
}
