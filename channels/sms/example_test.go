package sms_test

import (
	"fmt"

	"github.com/pbnotify/pbnotify/channels/sms"
)

func ExampleNormalize() {
	for _, typed := range []string{"8 (912) 345-67-89", "+44 20 7946 0958", "912 345 67 89"} {
		e164, err := sms.Normalize(typed)
		fmt.Printf("%q → %q %v\n", typed, e164, err)
	}
	// Output:
	// "8 (912) 345-67-89" → "+79123456789" <nil>
	// "+44 20 7946 0958" → "+442079460958" <nil>
	// "912 345 67 89" → "" phone number has no country code: write it with "+" and the country code, e.g. +44 20 7946 0958
}

func ExampleSegments() {
	fmt.Println(sms.Segments("Your order 1001 has shipped"))
	fmt.Println(sms.Segments("Ваш заказ №1001 отправлен, трек-номер придёт отдельным сообщением завтра"))
	// Output:
	// GSM-7 1
	// UCS-2 2
}
